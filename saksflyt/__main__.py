from saksflyt.cli import main

raise SystemExit(main())
