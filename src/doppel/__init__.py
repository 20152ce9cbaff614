"""doppel: train and serve a digital twin of one person from what they wrote."""

__version__ = "0.1.0"
