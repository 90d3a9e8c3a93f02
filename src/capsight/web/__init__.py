"""Static web page served at / by the API."""
