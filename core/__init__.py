"""Core library of the PDO drug-response dashboard: data, preprocessing, models, evaluation, prediction."""
