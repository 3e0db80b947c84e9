"""The embedded sandbox cloud: local servers on loopback that speak Cloud Run, Monitoring and Vercel's wire APIs."""
