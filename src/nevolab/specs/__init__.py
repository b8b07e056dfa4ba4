"""Notebook specs of each study; importing a module registers its notebooks in ``nevolab.figures``."""
