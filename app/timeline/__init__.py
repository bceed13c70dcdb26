"""The order timeline as people read it: each event of the log as a sentence (``sentences``), with the
names it needs looked up for the viewer (``subjects``)."""
