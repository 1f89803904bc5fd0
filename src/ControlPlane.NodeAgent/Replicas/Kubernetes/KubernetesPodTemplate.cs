using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.NodeAgent.Replicas.Kubernetes;

/// <summary>
/// What the operator adds to every engine pod (<c>--pod-template FILE</c>, the chart's <c>agent.engine</c> values): a JSON
/// object with up to three objects, <c>metadata</c> (<c>labels</c>, <c>annotations</c>), <c>spec</c> (pod spec fields:
/// <c>runtimeClassName</c>, <c>tolerations</c>, <c>volumes</c>, <c>priorityClassName</c>, ...) and <c>container</c> (the
/// engine container's fields: <c>resources</c>, <c>volumeMounts</c>, <c>args</c>, <c>env</c>, <c>securityContext</c>, ...).
/// The fields that make a pod a replica of this node are the agent's and may not be set here.
/// </summary>
internal sealed class KubernetesPodTemplate
{
    /// <summary>Pod spec fields the agent sets: the node, the one container, and that a failed engine is not restarted.</summary>
    public static readonly string[] OwnedSpecFields = ["nodeName", "restartPolicy", "containers"];

    /// <summary>Container fields the agent sets.</summary>
    public static readonly string[] OwnedContainerFields = ["name", "image", "command"];

    public static readonly KubernetesPodTemplate Empty = new(new JsonObject(), new JsonObject(), new JsonObject());

    private KubernetesPodTemplate(JsonObject metadata, JsonObject spec, JsonObject container)
    {
        Metadata = metadata;
        Spec = spec;
        Container = container;
    }

    public JsonObject Metadata { get; }

    public JsonObject Spec { get; }

    public JsonObject Container { get; }

    /// <summary>Reads and checks a template file; throws <see cref="InvalidDataException"/> saying what is wrong with it.</summary>
    public static KubernetesPodTemplate Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Checks a template; throws <see cref="InvalidDataException"/> naming <paramref name="source"/> and the field.</summary>
    public static KubernetesPodTemplate Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not JSON: {e.Message}");
        }

        if (root is not JsonObject top)
        {
            throw new InvalidDataException($"{source}: must be a JSON object with metadata, spec and container objects");
        }

        foreach (var (key, _) in top)
        {
            if (key is not ("metadata" or "spec" or "container"))
            {
                throw new InvalidDataException($"{source}: unknown key '{key}' (metadata, spec and container are read)");
            }
        }

        var metadata = ObjectOrEmpty(top, "metadata", source);
        var spec = ObjectOrEmpty(top, "spec", source);
        var container = ObjectOrEmpty(top, "container", source);
        foreach (var (key, _) in metadata)
        {
            if (key is not ("labels" or "annotations"))
            {
                throw new InvalidDataException($"{source}: metadata.{key} cannot be set (labels and annotations can)");
            }
        }

        foreach (var (field, _) in spec)
        {
            if (OwnedSpecFields.Contains(field))
            {
                throw new InvalidDataException($"{source}: spec.{field} is set by the agent");
            }
        }

        foreach (var (field, _) in container)
        {
            if (OwnedContainerFields.Contains(field))
            {
                throw new InvalidDataException($"{source}: container.{field} is set by the agent");
            }
        }

        if (container["env"] is { } env)
        {
            if (env is not JsonArray entries || entries.Any(e => e is not JsonObject))
            {
                throw new InvalidDataException($"{source}: container.env must be a list of objects");
            }

            foreach (var entry in entries)
            {
                var name = entry!["name"] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
                if (name is null || KubernetesPods.OwnedVariables.Contains(name))
                {
                    throw new InvalidDataException($"{source}: container.env sets {name ?? "an entry without a name"}{(name is null ? "" : ", which the agent sets")}");
                }
            }
        }

        return new KubernetesPodTemplate(metadata, spec, container);
    }

    private static JsonObject ObjectOrEmpty(JsonObject top, string key, string source) => top[key] switch
    {
        null => new JsonObject(),
        JsonObject o => o,
        _ => throw new InvalidDataException($"{source}: {key} must be an object"),
    };
}
