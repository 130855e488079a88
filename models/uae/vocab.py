"""The scene vocabulary of the Shapes world, in the order of src/shapes/scene.ts (the source of truth; a test
keeps the two equal). Indices into these lists are training targets and the choices of seeded perturbations,
so the order matters."""

SHAPES = ["circle", "square", "triangle", "diamond", "cross"]
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"]
SIZES = ["small", "large"]
BACKGROUNDS = ["black", "white", "gray", "navy"]
GRID = 3
