import sys

from bessai.cli.entry import main

sys.exit(main())
