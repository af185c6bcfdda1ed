"""The Kubernetes agent injector: a mutating admission webhook that adds strongroom agent containers to pods
annotated as Vault's agent injector expects."""
