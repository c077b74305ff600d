"""The grid operator's link: an IEC 60870-5-104 outstation with Local/Remote authority.

The site is read and commanded only through ``ScadaSite`` (``site.py``), so that
the outstation knows no gateway; ``bessai.core.site.scada_link`` implements it.
"""
