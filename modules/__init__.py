"""Networks: the registry, one folder per architecture family (spec and twins), the toolkit, weight transfer."""
