"""Code shared by every Lambda of the news-sentiment application; packaged into each zip."""
