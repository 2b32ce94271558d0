"""newsflow: poll news sources, extract articles, cluster them into stories, index them."""

__version__ = "0.1.0"
