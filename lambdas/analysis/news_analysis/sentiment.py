"""Sentiment scoring with VADER, whose lexicon ships inside the package (no download at runtime)."""

from decimal import Decimal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER's documented thresholds for the compound score.
POSITIVE_FROM = 0.05
NEGATIVE_FROM = -0.05

_analyzer = SentimentIntensityAnalyzer()


def score(title: str, description: str = "") -> tuple[str, Decimal]:
    text = f"{title}. {description}" if description else title
    compound = _analyzer.polarity_scores(text)["compound"]
    if compound >= POSITIVE_FROM:
        label = "positive"
    elif compound <= NEGATIVE_FROM:
        label = "negative"
    else:
        label = "neutral"
    return label, Decimal(str(round(compound, 4)))
