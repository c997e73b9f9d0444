"""Images drawn in code for the filter tests."""

import numpy as np
from PIL import Image, ImageDraw


def sparse_line_plot(width=1024, height=768, line_width=1) -> Image.Image:
    """Axes, a few ticks and one thin curve on white: the sparsest real figure kind."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(80, height - 60), (width - 20, height - 60)], fill="black", width=line_width)
    draw.line([(80, height - 60), (80, 40)], fill="black", width=line_width)
    xs = np.linspace(80, width - 20, 200)
    draw.line(list(zip(xs, height / 2 + height / 4 * np.sin(xs / 90))), fill=(31, 119, 180), width=line_width)
    return image
