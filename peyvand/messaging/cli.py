def add_commands(commands, acting) -> None:
    """Add this app's subcommands to the top-level `peyvand` subparsers."""
