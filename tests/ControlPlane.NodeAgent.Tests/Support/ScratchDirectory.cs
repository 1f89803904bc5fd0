namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>A temporary folder for scripts and outputs made by one test.</summary>
internal sealed class ScratchDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("nodeagent-tests-").FullName;

    public string WriteFile(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>An executable bash script that runs the fake nvidia-smi with <paramref name="environment"/> set.</summary>
    public string WriteFakeNvidiaSmi(string name, params (string Name, string Value)[] environment)
    {
        var exports = string.Concat(environment.Select(e => $"export {e.Name}='{e.Value}'\n"));
        return Fixtures.MakeExecutable(WriteFile(name, $"#!/usr/bin/env bash\n{exports}exec '{Fixtures.FakeNvidiaSmi}' \"$@\"\n"));
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
