"""Election calendars in (reader, classifier) and restricted periods out."""
