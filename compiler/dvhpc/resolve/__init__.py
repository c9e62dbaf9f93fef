"""Stage 3: resolve validated layers into the typed model (dvhpc.model.site.Site)."""
