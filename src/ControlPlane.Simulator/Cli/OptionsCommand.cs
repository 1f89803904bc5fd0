using System.CommandLine;

namespace ControlPlane.Simulator.Cli;

/// <summary>
/// A command of the simulator: its options (added to it like any <see cref="Command"/>'s) and how a parse of them
/// becomes <see cref="SimulatorOptions"/>, or why not. The description may be written over several lines: help
/// wraps it to the terminal's width.
/// </summary>
internal sealed class OptionsCommand(string name, string description, Func<ParseResult, (SimulatorOptions? Options, string? Error)> bind)
    : Command(name, description.ReplaceLineEndings(" "))
{
    public (SimulatorOptions? Options, string? Error) Bind(ParseResult parse) => bind(parse);
}
