"""Price research: units of supply, the IN 65/2021 mapa de preços, and the price model."""
