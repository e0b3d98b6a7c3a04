from airwatch.cli import main

raise SystemExit(main())
