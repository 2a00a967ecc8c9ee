"""The retrieval service: an owner reads, lists and deletes their images; renditions are served by signed URLs
(CloudFront through the delivery service, or S3 pre-signed GETs without it)."""
