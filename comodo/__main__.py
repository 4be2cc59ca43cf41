import sys

from comodo.cli import main

sys.exit(main())
