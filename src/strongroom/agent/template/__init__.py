"""consul-template's template language (Go text/template plus its functions), for the agent.

Layer: agent. The engine needs only stdlib, orjson and pyyaml; Vault data arrives through an injected
`SecretSource`.

    template = Template(text, name="db.ctmpl")
    rendered = await template.render(source)      # rendered.text, rendered.dependencies
"""

from strongroom.agent.template.engine import FUNCTION_NAMES, Rendered, Template
from strongroom.agent.template.errors import TemplateError
from strongroom.agent.template.source import Dependency, SecretSource

__all__ = ["FUNCTION_NAMES", "Dependency", "Rendered", "SecretSource", "Template", "TemplateError"]
