import sys

from bessai.cli import main

sys.exit(main())
