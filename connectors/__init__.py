"""Everything that talks to the outside world: the web, feeds, buses and stores."""
