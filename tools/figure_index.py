"""Which notebook regenerates which file of figures/, and what it corresponds to in the paper."""
FIGURES = {}
