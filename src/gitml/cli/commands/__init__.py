"""Subcommands of `gitml`, one module per concern, each exposing `register(subparsers)`."""
