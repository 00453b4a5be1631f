"""The GPU check's command line (gpu_check.py): its flags, the groups of rows --rows chooses from, and the sizes of a
smoke run (--quick)."""

import argparse
import os
import sys

import gpu_grid_rows
import gpu_report

GPU = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(GPU)
RESULTS_DIR = os.path.join(BENCH, "results")
NETWORKS = ("LeNet", "Conv6", "ResNet20")
GROUPS = ("float32", "resnet20", "tf32", "determinism", "sweep", "pack", *gpu_grid_rows.GRID_GROUPS)
QUICK = {"lenet": 2_000, "cifar": 500, "resnet": 200, "sweep": 500, "lenet_packs": "1,4", "conv6_packs": "1,2",
         "pack_conv6": 50, "conv_forms": 2, "conv_forms_batch": 5, "grid_time": 100}
PACKS = {"lenet_packs": "1,4,16,64", "conv6_packs": "1,8,16", "conv_forms": 8, "conv_forms_batch": 25}
CONV6_TARGET_PACK = 8  # Conv6 packs larger than the target's N run after the conv-forms row, if time allows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="GPU check: the project's runner on Keras' JAX backend vs. the "
                                     "masked PyTorch peers, on one GPU, in one command.")
    parser.add_argument("--quick", action="store_true", help="smoke run on small data (training images: LeNet "
                        f"{QUICK['lenet']:,}, Conv6 {QUICK['cifar']:,}, ResNet20 {QUICK['resnet']:,}, the 4 runs "
                        f"{QUICK['sweep']:,} each), 1 timed epoch, on the CPU unless --device gpu")
    parser.add_argument("--device", choices=("gpu", "cpu"), default=None, help="default: gpu (cpu with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs after the warm-up (default 2; 1 with "
                        "--quick)")
    parser.add_argument("--rows", default=None, help=f"comma-separated groups, run in this order: {', '.join(GROUPS)} "
                        "(default: all but the grid groups, autotune, forms, workers and gridtime, which calls of "
                        "their own name; no tf32 on a CPU)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated, of " + ", ".join(NETWORKS))
    parser.add_argument("--contenders", default="runner,torch", help="of the float32, resnet20 and tf32 groups: "
                        "the runner's rows, the PyTorch peers' or both (default runner,torch)")
    parser.add_argument("--mnist-dir", default=None, help="folder with the four official MNIST files (default: the "
                        "committed MNIST subset, 5,000 training images)")
    parser.add_argument("--lenet-examples", type=int, default=None, help="only the first N MNIST training images")
    parser.add_argument("--cifar-examples", type=int, default=None, help="Conv6's CIFAR-shaped training images "
                        "(default 45,000)")
    parser.add_argument("--resnet-examples", type=int, default=None, help="ResNet20's (default 10,000)")
    parser.add_argument("--sweep-examples", type=int, default=None, help="the sharing runs' limit (default: all)")
    parser.add_argument("--sweep-runs", type=int, default=4, help="runs sharing the device, as many Sweep.py workers")
    parser.add_argument("--budget-s", type=float, default=None, help="overall deadline in seconds from the start of "
                        "check.sh (default 270 on a GPU, 900 on a smoke run)")
    parser.add_argument("--child-timeout", type=float, default=90, help="seconds one row's process may take")
    parser.add_argument("--sweep-timeout", type=float, default=150, help="seconds the 4-run sweep may take")
    parser.add_argument("--lenet-packs", default=None, help="pack rows: LeNet's N, comma-separated (default "
                        f"{PACKS['lenet_packs']}; {QUICK['lenet_packs']} with --quick; 1 is the solo runner)")
    parser.add_argument("--conv6-packs", default=None, help=f"pack rows: Conv6's N (default {PACKS['conv6_packs']}; "
                        f"{QUICK['conv6_packs']} with --quick); N above 8 run after the conv forms")
    parser.add_argument("--pack-conv6-examples", type=int, default=None, help="pack rows: Conv6's training images "
                        f"(default: --cifar-examples; {QUICK['pack_conv6']} with --quick)")
    parser.add_argument("--conv-forms", type=int, default=None, help="pack rows: members of the conv-forms row "
                        f"(default {PACKS['conv_forms']}; {QUICK['conv_forms']} with --quick; 0: no such row)")
    parser.add_argument("--conv-forms-batch", type=int, default=None, help="its batch size (default "
                        f"{PACKS['conv_forms_batch']}; {QUICK['conv_forms_batch']} with --quick)")
    parser.add_argument("--pack-timeout", type=float, default=120, help="seconds one pack or conv-forms row may take")
    parser.add_argument("--grid-time-examples", type=int, default=None, help="gridtime row: training images timed "
                        f"per setting (default 500; {QUICK['grid_time']} with --quick)")
    parser.add_argument("--grid-time-timeout", type=float, default=240, help="seconds the gridtime row may take")
    parser.add_argument("--output-dir", default=None, help="also write gpu_check.json/.md here (a smoke run may not "
                        "name bench/results)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.device = args.device or ("cpu" if args.quick else "gpu")
    args.smoke = args.quick or args.device == "cpu"
    args.epochs = args.epochs if args.epochs is not None else (1 if args.quick else 2)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    quick = QUICK if args.quick else {}
    args.lenet_examples = args.lenet_examples or quick.get("lenet")
    args.cifar_examples = args.cifar_examples or quick.get("cifar", gpu_report.CIFAR10_TRAINING_EXAMPLES)
    args.resnet_examples = args.resnet_examples or quick.get("resnet", 10_000)
    args.sweep_examples = args.sweep_examples or quick.get("sweep")
    defaults = QUICK if args.quick else PACKS
    args.packs = {"LeNet": pack_sizes(parser, "--lenet-packs", args.lenet_packs or defaults["lenet_packs"]),
                  "Conv6": pack_sizes(parser, "--conv6-packs", args.conv6_packs or defaults["conv6_packs"])}
    args.pack_examples = {"Conv6": args.pack_conv6_examples or quick.get("pack_conv6")}
    args.conv_forms = defaults["conv_forms"] if args.conv_forms is None else args.conv_forms
    args.conv_forms_batch = args.conv_forms_batch or defaults["conv_forms_batch"]
    args.grid_time_examples = args.grid_time_examples or quick.get("grid_time", 500)
    args.networks = [name.strip() for name in args.networks.split(",") if name.strip()]
    if not args.networks or set(args.networks) - set(NETWORKS):
        parser.error(f"--networks takes a comma-separated choice of {', '.join(NETWORKS)}")
    args.contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    if not args.contenders or set(args.contenders) - {"runner", "torch"}:
        parser.error("--contenders takes runner, torch or runner,torch")
    # The grid groups have device calls of their own (gpu_grid_rows.py): named, never by default.
    default_groups = [group for group in GROUPS if (group != "tf32" or args.device == "gpu")
                      and group not in gpu_grid_rows.GRID_GROUPS]
    args.rows = [name.strip() for name in args.rows.split(",")] if args.rows else default_groups
    if set(args.rows) - set(GROUPS):
        parser.error(f"--rows takes a comma-separated choice of {', '.join(GROUPS)}")
    if "tf32" in args.rows and args.device == "cpu":
        parser.error("tf32 rows need a GPU (the product refuses --precision tf32 on a CPU); leave tf32 out of --rows")
    args.budget_s = args.budget_s or (900 if args.smoke else 270)
    if args.smoke and args.output_dir and os.path.realpath(args.output_dir) == os.path.realpath(RESULTS_DIR):
        parser.error("a smoke run (--quick or --device cpu) may not write into bench/results, where only GPU results "
                     "go; pass another --output-dir")
    return args


def pack_sizes(parser, flag, text):
    try:
        sizes = list(dict.fromkeys(int(value) for value in text.split(",") if value.strip()))
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        parser.error(f"{flag} takes comma-separated positive integers, not {text!r}")
    return sizes
