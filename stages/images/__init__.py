"""The images stage (``stage``) and the pixels it carries to the stages after it (``pixels``)."""
