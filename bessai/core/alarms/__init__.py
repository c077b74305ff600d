"""Alarms (ISA-18.2 style) and the catalogue of every alarm the product raises."""
