namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>
/// Tests that write scripts and start processes run alone: a process forked while another test still has a
/// freshly written script open would make exec fail with "text file busy".
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessCollection
{
    public const string Name = "Processes";
}
