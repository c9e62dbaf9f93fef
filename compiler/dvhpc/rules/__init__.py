"""Stage 4: checks of a resolved site (lint rules), the workflow readers and shellcheck."""
