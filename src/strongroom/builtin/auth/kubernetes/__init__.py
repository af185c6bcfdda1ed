"""The kubernetes auth method: pods log in with their service-account JWT, checked by the TokenReview API."""
