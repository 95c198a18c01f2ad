# METADATA
# title: The gate's entrypoint
# description: Collects every deny and warn of every rule package, for one stack's input.
package maestro.gate

# result is the bundle's entrypoint (maestro/gate/result).
result := {
	"deny": [v | some v in data.maestro.rules[_].deny],
	"warn": [v | some v in data.maestro.rules[_].warn],
}
