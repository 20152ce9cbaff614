"""Built-in demo data: a fictional CRM for the persona Allan Maverick."""
