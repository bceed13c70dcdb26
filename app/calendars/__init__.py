"""Business calendars: working hours, weekly working days and holidays, and time measured in them."""
