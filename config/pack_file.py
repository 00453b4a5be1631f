"""Pack files: the runs `MaskTrainer.py --pack-file FILE` trains together, as Sweep.py --pack writes one per pack."""

import json

from config.run_config import ConfigError, RunConfig
from training.pack import MAY_DIFFER, pack_signature

PACK_FILE_FORMAT = 'a JSON object {"runs": [settings, ...]}, each settings object as MaskTrainer.py\'s flags name them'


def read_pack_file(path):
    """The RunConfigs of a pack file (what Sweep.py --pack writes for each pack): validated, each with a fixed
    seed, all able to train together; ConfigError (one sentence) otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            runs = json.load(handle)["runs"]
        configs = [RunConfig.from_settings(settings, strict=False).validate() for settings in runs]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, ConfigError):
            raise ConfigError(f"{path} holds a run that cannot train: {error}") from None
        if isinstance(error, OSError):
            raise ConfigError(f"The pack file {path} cannot be read ({error.strerror}); pass the path of a file "
                              "that Sweep.py --pack wrote.") from None
        raise ConfigError(f"{path} is not a pack file ({PACK_FILE_FORMAT}).") from None
    if not configs or any(config.seed == 0 for config in configs):
        raise ConfigError(f"{path} must list at least one run, each with a fixed seed.")
    if len({pack_signature(config) for config in configs}) > 1:
        raise ConfigError(f"The runs of {path} cannot train in one pack: they may differ only in "
                          f"{', '.join(MAY_DIFFER)}.")
    return configs
