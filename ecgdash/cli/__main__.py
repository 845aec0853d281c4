"""``python -m ecgdash.cli ...`` (also the script spark-submit runs: ``spark-submit
$(python -c 'import ecgdash.cli.__main__ as m; print(m.__file__)') spark raw-writer``)."""

import sys

from ecgdash.cli.main import main

sys.exit(main())
