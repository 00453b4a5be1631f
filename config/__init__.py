"""The one RunConfig that flows from the command line through building, training and writing."""

from config.run_config import ConfigError, RunConfig, build_parser, parse_args

__all__ = ["ConfigError", "RunConfig", "build_parser", "parse_args"]
