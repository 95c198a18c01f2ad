import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { ComplianceBoard } from "./ComplianceBoard";
import "./styles.css";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ComplianceBoard />
  </StrictMode>,
);
