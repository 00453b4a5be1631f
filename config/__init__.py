"""The one RunConfig that flows from the command line through building, training and writing."""

from config.command_line import build_parser, command_line_arguments, given_settings, parse_args, setting_fields
from config.run_config import MAX_SEED, NOT_IDENTITY, ConfigError, RunConfig

__all__ = ["ConfigError", "MAX_SEED", "NOT_IDENTITY", "RunConfig", "build_parser", "command_line_arguments",
           "given_settings", "parse_args", "setting_fields"]
