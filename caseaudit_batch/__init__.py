"""caseaudit: monthly case file audit for children's social care quality assurance teams."""

__version__ = "0.1.0"
