from lobbybot.cli import main

raise SystemExit(main())
