"""Order intake: channel sources, raw payloads, canonical mapping, quality rules, quarantine, replay."""
