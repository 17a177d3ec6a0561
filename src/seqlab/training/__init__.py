"""One training loop for every task: ``run.train(recipe, out_dir)`` turns a recipe into a run directory."""
