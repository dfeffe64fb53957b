"""The applications on top of the library: the CLI, the leaderboard report, the offline demo and
the registry-index tools (build and search ``index.json``)."""
