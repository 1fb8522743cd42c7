"""The registry transport, one concern per module (after go-containerregistry's
``pkg/v1/remote/transport``):

- :mod:`.retry`: a retrying ``httpx.BaseTransport``, one budget per request;
- :mod:`.authflow`: the Basic/Bearer challenge answered as an ``httpx.Auth`` flow;
- :mod:`.keychain`: credentials as a list of providers (docker config, Google ADC,
  anonymous); :mod:`.google` holds the google-auth calls;
- :mod:`.errors`: :class:`~.errors.RegistryError`, typed (status, error codes, temporary);
- :mod:`.challenge`, :mod:`.hosts`: parsing ``WWW-Authenticate``, host rules;
- :mod:`.client`: the ``httpx.Client`` that stacks them.

:mod:`buildguard._image.registry` on top speaks the distribution API and never sees a 401 or
a retry.
"""
