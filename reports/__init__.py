"""Documents made from figures: digest and village-work text, charts, and the XLSX writer with
its rows and parts. Imports only common and storage."""
