"""Models: pure ``nn.Module``s built from a config dataclass by ``models.registry``."""
