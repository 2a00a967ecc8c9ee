"""The retrieval service: an owner reads, lists and deletes their images; renditions are served by pre-signed GET."""
